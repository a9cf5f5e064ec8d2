"""Inspection schedules as django-celery-beat crontab entries: validation and the rule in words."""
import zoneinfo

from celery.schedules import crontab
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
TASK = "operations.tasks.run_scheduled_inspection"


def validate(values: dict) -> dict:
    """The five crontab fields and the time zone, stripped; ValidationError keyed by field."""
    cleaned, errors = {}, {}
    for name in FIELDS:
        value = str(values.get(name, "") or "").strip()
        if not value or len(value) > 64 or " " in value:
            errors[name] = _("Enter one crontab field, e.g. * or 0 or 1-5 or */15.")
        cleaned[name] = value
    zone = str(values.get("timezone", "") or "").strip()
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = _("Unknown time zone %(zone)s; use a name such as Asia/Shanghai or UTC.") % {"zone": zone}
    cleaned["timezone"] = zone
    if not errors:
        for name in FIELDS:
            try:
                crontab(**{name: cleaned[name]})
            except (ValueError, TypeError, IndexError) as error:
                errors[name] = _("Invalid value %(value)s: %(error)s") % {"value": cleaned[name], "error": error}
    if not errors and cleaned["minute"] in ("*", "*/1"):
        errors["minute"] = _("Inspect at most once an hour: choose the minute, e.g. 0.")
    if errors:
        raise ValidationError(errors)
    return cleaned


DAYS = {"0": _("Sunday"), "1": _("Monday"), "2": _("Tuesday"), "3": _("Wednesday"), "4": _("Thursday"),
        "5": _("Friday"), "6": _("Saturday"), "7": _("Sunday")}


def describe(schedule) -> str:
    """"every day at 02:00 Asia/Shanghai"; the plain crontab when no simpler words fit."""
    minute, hour = schedule.minute, schedule.hour
    dow, dom, month, zone = schedule.day_of_week, schedule.day_of_month, schedule.month_of_year, schedule.timezone
    at = f"{int(hour):02d}:{int(minute):02d}" if minute.isdigit() and hour.isdigit() else None
    if at and month == "*":
        if dom == "*" and dow == "*":
            return _("every day at %(time)s %(zone)s") % {"time": at, "zone": zone}
        if dom == "*" and dow in DAYS:
            return _("every %(day)s at %(time)s %(zone)s") % {"day": DAYS[dow], "time": at, "zone": zone}
        if dom == "*" and dow in ("1-5", "mon-fri"):
            return _("every weekday at %(time)s %(zone)s") % {"time": at, "zone": zone}
        if dow == "*" and dom.isdigit():
            return _("on day %(day)s of every month at %(time)s %(zone)s") % {"day": dom, "time": at, "zone": zone}
    if minute.isdigit() and hour.startswith("*/") and hour[2:].isdigit() and (dom, month, dow) == ("*", "*", "*"):
        return _("every %(hours)s hours at minute %(minute)s %(zone)s") % {"hours": hour[2:], "minute": minute,
                                                                         "zone": zone}
    if minute.isdigit() and hour == "*" and (dom, month, dow) == ("*", "*", "*"):
        return _("every hour at minute %(minute)s %(zone)s") % {"minute": minute, "zone": zone}
    return _("at cron %(cron)s %(zone)s") % {"cron": f"{minute} {hour} {dom} {month} {dow}", "zone": zone}
