from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from businesses.models import Business
from businesses.services import account_summary
from queues.models import EntryStatus


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("queues:overview")
    return render(request, "queues/home.html")


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    businesses = (
        Business.objects.filter(owner=request.user)
        .annotate(
            queue_size=Count("queue_entries",
                             filter=Q(queue_entries__status=EntryStatus.WAITING)),
            served_today=Count("queue_entries", filter=Q(
                queue_entries__status=EntryStatus.SERVED,
                queue_entries__service_day=today)),
        )
        .order_by("-is_active", "name")
    )
    return render(request, "queues/overview.html", {
        "businesses": businesses, "summary": account_summary(user=request.user),
    })


def join_page(request: HttpRequest, token: str) -> HttpResponse:
    business = (
        Business.objects.select_related("owner").filter(qr_token=token).first()
    )
    if business is None:
        return render(request, "queues/join_invalid.html", status=404)
    return render(request, "queues/join.html", {"business": business})
