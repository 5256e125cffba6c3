from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from analytics import charts, exports, selectors, services
from analytics.forms import AccountDeleteForm
from businesses.selectors import account_for, business_for

DASHBOARD_PERIODS = ("last_7_days", "last_30_days", "last_90_days")


def _chosen_period(request: HttpRequest, allowed: tuple[str, ...], default: str) -> str:
    key = request.GET.get("period", "")
    return key if key in allowed else default


def _download(content: str, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@login_required
@require_safe
def business_analytics(request: HttpRequest, business_id) -> HttpResponse:
    """Today live, last 7 / 30 days and the charts of the chosen period; an htmx request
    (period tabs) gets only the period's fragment."""
    business = business_for(request.user, business_id, permission="stats")
    advanced = selectors.has_advanced_analytics(business.owner)
    allowed = DASHBOARD_PERIODS if advanced else ("last_7_days",)
    key = _chosen_period(request, allowed, allowed[1] if advanced else allowed[0])
    dashboard = selectors.business_dashboard(business, period_key=key)
    context = {
        "business": business, "dashboard": dashboard, "advanced": advanced,
        "periods": [(name, selectors.PERIODS[name][1], name in allowed)
                    for name in DASHBOARD_PERIODS],
        "charts": [charts.customers_per_hour_chart(dashboard.figures),
                   charts.served_per_day_chart(dashboard.days),
                   charts.wait_per_day_chart(dashboard.days)],
        "now": timezone.localtime(),
        "breakdowns": selectors.business_breakdowns(business, period=dashboard.period),
    }
    if request.htmx:
        return render(request, "analytics/partials/business_history.html", context)
    return render(request, "analytics/business_dashboard.html", context)


@login_required
@require_safe
def business_export_csv(request: HttpRequest, business_id) -> HttpResponse:
    business = business_for(request.user, business_id, permission="stats")
    if not selectors.has_advanced_analytics(business.owner):
        messages.info(request, _("The CSV export comes with the Pro and Enterprise plans."))
        return redirect("analytics:business", business_id=business.pk)
    rows = business.daily_stats.order_by("date")
    filename = f"waitify-{slugify(business.name) or 'business'}-daily.csv"
    # The file follows the page's language: a French merchant opens it in French Excel.
    french = translation.get_language().startswith("fr")
    return _download(exports.daily_history_csv(rows, for_french_excel=french),
                     "text/csv; charset=utf-8", filename)


@login_required
@require_safe
def comparison(request: HttpRequest) -> HttpResponse:
    """The merchant's businesses side by side over a period, totals, best performer,
    suggestions, and today's live totals."""
    account_for(request.user, permission="stats")
    allowed = selectors.periods_allowed(request.user)
    key = _chosen_period(request, allowed, selectors.DEFAULT_PERIOD)
    result = selectors.merchant_comparison(request.user, period=selectors.period_named(key))
    live = selectors.today_figures(item.business.pk for item in result.items)
    context = {
        "comparison": result, "advanced": selectors.has_advanced_analytics(request.user),
        "periods": [(name, label, name in allowed)
                    for name, (_days, label) in selectors.PERIODS.items()],
        "rows": [(item, live[item.business.pk]) for item in result.items],
        "today": selectors.sum_today(live[item.business.pk] for item in result.items),
    }
    return render(request, "analytics/comparison.html", context)


@login_required
@require_safe
def account_export(request: HttpRequest) -> HttpResponse:
    data = exports.account_data(request.user)
    content = json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    filename = f"waitify-account-{timezone.localdate().isoformat()}.json"
    return _download(content, "application/json; charset=utf-8", filename)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    form = AccountDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.account_delete(user=request.user)
        except services.AccountDeletionRefused as refusal:
            messages.error(request, refusal.message)
        else:
            logout(request)
            messages.success(request, _("Your account and all its data have been deleted."))
            return redirect("queues:home")
    return render(request, "analytics/account_delete.html", {"form": form})
