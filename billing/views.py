"""The merchant's billing page and the buttons on it (Checkout, plan change, portal)."""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from billing import selectors, services
from billing.errors import BillingError
from billing.models import BillingAccount
from businesses.models import Plan
from businesses.selectors import account_for

REQUEST_ID = re.compile(r"[A-Za-z0-9-]{8,64}")


def _page_url(outcome: str = "") -> str:
    url = f"{settings.SITE_URL}{reverse('billing:page')}"
    return f"{url}?checkout={outcome}" if outcome else url


def _show_error(request: HttpRequest, error: BillingError) -> None:
    messages.error(request, _("%(message)s (error %(code)s)") % {"message": error.message,
                                                               "code": error.code})


@login_required
@require_safe
def billing_page(request: HttpRequest) -> HttpResponse:
    account = account_for(request.user, permission="billing")
    billing = BillingAccount.objects.filter(account=account).first()
    meter = selectors.usage_meter(account=account)
    subscribed = bool(billing and billing.stripe_subscription_status
                      in selectors.BILLED_SUBSCRIPTION_STATUSES)
    return render(request, "billing/billing.html", {
        "meter": meter,
        "billing": billing,
        "subscribed": subscribed,
        "stripe_enabled": settings.STRIPE_ENABLED,
        "choices": selectors.plan_choices(account=account, subscribed=subscribed,
                                          active_businesses=meter.active_businesses),
        "invoices": selectors.account_invoices(
            account=account, customer_id=billing.stripe_customer_id if billing else ""),
        "usage_records": account.usage_records.select_related("plan")[:12],
        "request_id": uuid.uuid4(),
        "checkout": request.GET.get("checkout", ""),
    })


@login_required
@require_POST
def plan_choose(request: HttpRequest, plan_name: str) -> HttpResponse:
    account = account_for(request.user, permission="billing")
    plan = get_object_or_404(Plan, name=plan_name, is_active=True)
    request_id = request.POST.get("request_id", "")
    if not REQUEST_ID.fullmatch(request_id):
        request_id = uuid.uuid4().hex
    try:
        change = services.plan_subscribe(
            account=account, plan=plan, request_id=request_id,
            success_url=_page_url("success"), cancel_url=_page_url("cancelled"))
    except BillingError as error:
        _show_error(request, error)
        return redirect("billing:page")
    if change.redirect_url:
        return redirect(change.redirect_url)  # Stripe Checkout
    messages.success(request, _("Your plan is now %(plan)s.") % {"plan": plan})
    return redirect("billing:page")


@login_required
@require_POST
def portal(request: HttpRequest) -> HttpResponse:
    try:
        account = account_for(request.user, permission="billing")
        return redirect(services.portal_url(account=account, return_url=_page_url()))
    except BillingError as error:
        _show_error(request, error)
        return redirect("billing:page")
