"""The owner's staff page (invite, change, remove) and the invitee's join page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from businesses import selectors, services
from businesses.forms import StaffInviteForm, StaffMemberForm
from businesses.models import Membership
from businesses.services import BusinessError
from waitify.lib.tokens import looks_like_token


def _page(request: HttpRequest, account, invite_form: StaffInviteForm,
          status: int = 200) -> HttpResponse:
    at_limit = not services.account_has_room_for_staff(user=account)
    members = [(member, StaffMemberForm(account=account, prefix=str(member.pk), initial={
        "role": member.role, "businesses": list(member.businesses.all())}))
        for member in selectors.staff_of(account)]
    return render(request, "businesses/staff.html", {
        "members": members, "invite_form": invite_form, "plan": account.plan,
        "seats_used": selectors.seats_used(account),
        "at_limit": at_limit,
        "bigger_plans": services.plans_with_more_seats(user=account) if at_limit else [],
        "stripe_enabled": settings.STRIPE_ENABLED, "support_email": settings.SUPPORT_EMAIL,
    }, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def staff_page(request: HttpRequest) -> HttpResponse:
    account = selectors.account_for(request.user, permission="staff")
    form = StaffInviteForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            member = services.staff_invite(account=account, email=data["email"],
                                           role=data["role"], businesses=data["businesses"])
        except BusinessError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Invitation sent to %(email)s.")
                             % {"email": member.email})
            return redirect("businesses:staff")
    return _page(request, account, form)


def _member(request: HttpRequest, membership_id) -> tuple:
    account = selectors.account_for(request.user, permission="staff")
    return account, get_object_or_404(Membership, pk=membership_id, account=account)


@login_required
@require_POST
def staff_member_update(request: HttpRequest, membership_id) -> HttpResponse:
    account, member = _member(request, membership_id)
    form = StaffMemberForm(request.POST, account=account, prefix=str(member.pk))
    if not form.is_valid():
        messages.error(request, _("Choose a role and businesses among yours."))
        return redirect("businesses:staff")
    try:
        services.staff_update(account=account, membership=member, role=form.cleaned_data["role"],
                              businesses=form.cleaned_data["businesses"])
    except BusinessError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Saved: %(email)s's access changes on their next click.")
                         % {"email": member.email})
    return redirect("businesses:staff")


@login_required
@require_POST
def staff_member_remove(request: HttpRequest, membership_id) -> HttpResponse:
    account, member = _member(request, membership_id)
    services.staff_remove(account=account, membership=member)
    messages.success(request, _("%(email)s no longer has access to your businesses.")
                     % {"email": member.email})
    return redirect("businesses:staff")


@require_http_methods(["GET", "HEAD", "POST"])
def staff_join(request: HttpRequest, token: str) -> HttpResponse:
    """The link of the invitation e-mail: sign up or log in with the invited address,
    then join. Nothing is said about an invitation to someone not logged in as its
    addressee beyond who invites."""
    member = None
    if looks_like_token(token):
        member = Membership.objects.select_related("account").filter(token=token).first()
    if member is None or (member.user_id and member.user_id != request.user.pk):
        return render(request, "businesses/staff_join.html", {"invalid": True}, status=404)
    if member.user_id is not None:  # joined already (at sign-up, or a second click)
        return redirect("queues:overview")
    error = None
    if request.method == "POST" and request.user.is_authenticated:
        try:
            services.staff_join(user=request.user, token=token)
        except BusinessError as exc:
            error = exc.message
        else:
            messages.success(request, _("Welcome to %(name)s's team.")
                             % {"name": member.account.get_full_name()})
            return redirect("queues:overview")
    return render(request, "businesses/staff_join.html", {
        "member": member, "error": error, "next": request.get_full_path(),
        "matches": request.user.is_authenticated
        and request.user.email.lower() == member.email.lower(),
    }, status=400 if error else 200)
