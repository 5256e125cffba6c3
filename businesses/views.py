from __future__ import annotations

import copy

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.utils.text import slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from businesses import qr, services
from businesses.forms import BusinessForm, ProfileForm
from businesses.models import Business, LegalPage
from businesses.selectors import business_for
from businesses.services import BusinessError


def _warn_when_the_account_is_locked(request: HttpRequest) -> None:
    # Say so before the merchant fills a form that the service will refuse.
    try:
        services.account_ensure_can_change(user=request.user)
    except BusinessError as error:
        messages.warning(request, error.message)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def business_create(request: HttpRequest) -> HttpResponse:
    form = BusinessForm(request.POST or None)
    if request.method == "GET":
        _warn_when_the_account_is_locked(request)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            business = services.business_create(owner=request.user, **fields)
        except BusinessError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("“%(name)s” is ready. Print its QR code and open the "
                                        "queue.") % {"name": business.name})
            return redirect("businesses:detail", business_id=business.pk)
    at_limit = not services.account_has_room_for_business(user=request.user)
    return render(request, "businesses/business_form.html", {
        "form": form, "creating": True, "plan": request.user.plan, "at_limit": at_limit,
        "bigger_plans": services.plans_with_more_room(user=request.user) if at_limit else [],
        "stripe_enabled": settings.STRIPE_ENABLED, "support_email": settings.SUPPORT_EMAIL,
    })


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def business_detail(request: HttpRequest, business_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="settings")
    # The form writes what was typed onto its instance: give it a copy, so that a refused
    # or invalid change does not show up in the page's heading as if it were saved.
    form = BusinessForm(request.POST or None, instance=copy.copy(business))
    if request.method == "GET":
        _warn_when_the_account_is_locked(request)
    if request.method == "POST" and form.is_valid():
        try:
            services.business_update(business=business, **form.service_fields())
        except BusinessError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Settings saved."))
            return redirect("businesses:detail", business_id=business.pk)
    return render(request, "businesses/business_detail.html",
                  {"business": business, "form": form})


@login_required
@require_POST
def business_deactivate(request: HttpRequest, business_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="owner")
    return _run(request, business, services.business_deactivate,
                _("“%(name)s” is deactivated: its queue is closed and its QR code shows it "
                  "as unavailable."))


@login_required
@require_POST
def business_activate(request: HttpRequest, business_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="owner")
    return _run(request, business, services.business_activate, _("“%(name)s” is active again."))


@login_required
@require_POST
def business_regenerate_qr(request: HttpRequest, business_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="settings")
    return _run(request, business, services.business_regenerate_qr_token,
                _("New QR code for “%(name)s”: print it again, the old one no longer works."))


def _run(request: HttpRequest, business: Business, action, success: str) -> HttpResponse:
    try:
        action(business=business)
    except BusinessError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success % {"name": business.name})
    return redirect("businesses:detail", business_id=business.pk)


def _download(content: bytes, content_type: str, business: Business, suffix: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    filename = f"waitify-{slugify(business.name) or 'business'}-{suffix}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The code changes when the token is regenerated: never serve a stale copy.
    patch_cache_control(response, private=True, no_cache=True)
    return response


@login_required
@require_safe
def business_qr_png(request: HttpRequest, business_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="settings")
    return _download(qr.qr_png(business.join_url), "image/png", business, "qr.png")


@login_required
@require_safe
def business_qr_svg(request: HttpRequest, business_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="settings")
    return _download(qr.qr_svg(business.join_url), "image/svg+xml", business, "qr.svg")


@login_required
@require_safe
def business_poster_pdf(request: HttpRequest, business_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="settings")
    return _download(qr.poster_pdf(business), "application/pdf", business, "affiche.pdf")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def account_profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.account_update_profile(user=request.user, **form.cleaned_data)
        messages.success(request, _("Profile saved."))
        return redirect("businesses:account")
    return render(request, "businesses/account.html", {"form": form})


@require_safe
def legal_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Legal notice, terms, privacy policy: public, in the visitor's language."""
    page = get_object_or_404(LegalPage, slug=slug)
    language = "en" if (get_language() or "").startswith("en") else "fr"
    return render(request, "businesses/legal_page.html", {
        "page": page, "title": page.title(language), "blocks": page.blocks(language),
    })
