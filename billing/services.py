"""Billing operations (R7): hourly settlement, operators' ledger entries, the balance and
the next hour's charge, arrears (freeze, unfreeze) and the notices they send.

Money is `Decimal` throughout. The balance is the sum of the account's ledger entries;
every ledger write takes the account's `BillingAccount` row lock first, so each entry's
`balance_after` is that sum and concurrent writers queue instead of racing.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from cceone.audit.services import record
from cceone.iam.models import Account

from . import metering, notices
from .models import BillingAccount, FrozenInstance, InstanceType, LedgerEntry, Price, Settlement, SettlementShare

PRECISION = Decimal("0.0001")  # ¥ amounts are kept to the four decimals of the prices
MINIMUM_BALANCE = Decimal("100")  # R7.5: an order needs at least ¥100
LOW_BALANCE_HOURS = 24  # R7.6: warn when the balance covers less than a day of charges
SYSTEM = "system"

# Kinds an operator records; charges come only from settlement.
OPERATOR_KINDS = (LedgerEntry.Kind.TOP_UP, LedgerEntry.Kind.ADJUSTMENT, LedgerEntry.Kind.REFUND)


# --- prices -----------------------------------------------------------------------------

class PriceBook:
    """Every price, loaded once: the unit price of a type at a moment, without a query."""

    def __init__(self):
        self._by_type = defaultdict(list)
        for instance_type, effective_from, unit_price in (
                Price.objects.order_by("effective_from").values_list("instance_type", "effective_from", "unit_price")):
            self._by_type[instance_type].append((effective_from, unit_price))

    def at(self, instance_type: str, moment: datetime) -> Decimal:
        price = Decimal("0")
        for effective_from, unit_price in self._by_type.get(instance_type, ()):
            if effective_from > moment:
                break
            price = unit_price
        return price


def charge_for(vcpu: Decimal, unit_price: Decimal) -> Decimal:
    return (vcpu * unit_price).quantize(PRECISION, rounding=ROUND_HALF_UP)


# --- balance ----------------------------------------------------------------------------

def balance(account) -> Decimal:
    """The sum of the account's ledger entries (the last entry's running sum)."""
    account_id = getattr(account, "pk", account)
    latest = (LedgerEntry.objects.filter(account_id=account_id).order_by("-id")
              .values_list("balance_after", flat=True).first())
    return latest if latest is not None else Decimal("0")


def hourly_charges(account_ids, at=None, book: PriceBook | None = None) -> dict[int, Decimal]:
    """The next hour's charge of each account's existing on-demand instances: their
    current vCPU × the price in force, summed (R7.5)."""
    at = at or timezone.now()
    book = book or PriceBook()
    totals = {account_id: Decimal("0") for account_id in account_ids}
    for kind in metering.kinds():
        for account_id, instances in kind.current_vcpu(totals.keys()).items():
            for instance_type, vcpu in instances:
                totals[account_id] += charge_for(vcpu, book.at(instance_type, at))
    return totals


def hourly_charge(account) -> Decimal:
    return hourly_charges([account.pk])[account.pk]


def required_balance(account) -> tuple[Decimal, Decimal]:
    """(the balance an order needs, the next hour's charge it is based on)."""
    hourly = hourly_charge(account)
    return max(MINIMUM_BALANCE, hourly), hourly


@dataclass
class Summary:
    balance: Decimal
    hourly_charge: Decimal
    required_to_order: Decimal
    frozen_since: datetime | None
    low_balance: bool
    hours_covered: Decimal | None


def summary(account) -> Summary:
    current = balance(account)
    required, hourly = required_balance(account)
    state = BillingAccount.objects.filter(account=account).first()
    return Summary(
        balance=current, hourly_charge=hourly, required_to_order=required,
        frozen_since=state.frozen_at if state else None,
        low_balance=bool(hourly) and Decimal("0") <= current < hourly * LOW_BALANCE_HOURS,
        hours_covered=(current / hourly).quantize(Decimal("0.1")) if hourly and current > 0 else None,
    )


def _lock(account_id: int) -> BillingAccount:
    """The account's billing row, locked until the transaction ends."""
    BillingAccount.objects.get_or_create(account_id=account_id)
    return (BillingAccount.objects.select_for_update(of=("self",)).select_related("account__owner")
            .get(account_id=account_id))


# --- operators' entries -----------------------------------------------------------------

def is_operator(user) -> bool:
    """Operators work in the admin: staff users outside every tenant."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff
                and not user.account_id)


def validate_entry(account, kind: str, amount, reference: str) -> Decimal:
    if kind not in OPERATOR_KINDS:
        raise ValidationError({"kind": _("Operators record top-ups, adjustments and refunds; "
                                         "charges come from settlement.")})
    try:
        amount = Decimal(str(amount)).quantize(PRECISION, rounding=ROUND_HALF_UP)
    except (ArithmeticError, ValueError):
        raise ValidationError({"amount": _("Enter an amount in ¥.")}) from None
    if amount == 0 or (kind != LedgerEntry.Kind.ADJUSTMENT and amount < 0):
        raise ValidationError({"amount": _("Enter a positive amount (an adjustment may be negative).")})
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": _("Enter a reference, e.g. the payment's receipt number.")})
    if LedgerEntry.objects.filter(account=account, reference=reference).exists():
        raise ValidationError({"reference": _("The ledger already holds an entry with this reference.")})
    return amount


def record_entry(operator, account: Account, kind: str, amount, reference: str, note: str = "") -> LedgerEntry:
    """An operator's top-up, adjustment or refund. A balance back at zero or above
    unfreezes the account's instances; one that covers a day of charges again ends the
    low-balance episode."""
    if not is_operator(operator) or not operator.has_perm("billing.add_ledgerentry"):
        raise PermissionDenied(_("Only operators record top-ups, adjustments and refunds."))
    amount = validate_entry(account, kind, amount, reference)
    reference = reference.strip()
    try:
        with transaction.atomic():
            state = _lock(account.pk)
            new_balance = balance(account) + amount
            entry = LedgerEntry.objects.create(
                account=account, kind=kind, amount=amount, balance_after=new_balance, reference=reference,
                note=note.strip(), actor=operator, actor_name=operator.get_username())
            record(operator, f"billing:{kind.replace('_', '')}", ("account", account.pk, account.name),
                   account=account, details={"amount": str(amount), "reference": reference,
                                             "balance": str(new_balance)})
            _after_balance_change(state, new_balance, hourly_charges([account.pk])[account.pk], trigger=kind)
    except IntegrityError:
        raise ValidationError({"reference": _("The ledger already holds an entry with this reference.")}) from None
    return entry


def top_up(operator, account: Account, amount, reference: str, note: str = "") -> LedgerEntry:
    return record_entry(operator, account, LedgerEntry.Kind.TOP_UP, amount, reference, note)


# --- settlement (R7.3) ------------------------------------------------------------------

@dataclass
class SettlementRun:
    cutoff: datetime
    hours: int = 0  # instance-hours settled (usage records written)
    billed: int = 0  # of which billed
    amount: Decimal = Decimal("0")
    accounts: int = 0
    frozen: list[int] = field(default_factory=list)  # accounts that went into arrears

    def as_dict(self) -> dict:
        return {"cutoff": self.cutoff.isoformat(), "hours": self.hours, "billed": self.billed,
                "amount": str(self.amount), "accounts": self.accounts, "frozen": self.frozen}


def settle(now: datetime | None = None) -> SettlementRun:
    """Settle every instance-hour that ended by `now` and is not settled yet.

    Safe to run at any time, again, twice at once, or after a crash: each account's hours
    are written in one transaction under the account's lock, which first drops the hours
    already settled; the (instance, hour) unique constraint backs that up.
    """
    cutoff = metering.hour_floor(now or timezone.now())
    run = SettlementRun(cutoff=cutoff)
    by_account: dict[int, list[metering.HourUsage]] = defaultdict(list)
    for kind in metering.kinds():
        for usage in kind.unsettled_hours(cutoff):
            by_account[usage.account_id].append(usage)
    if not by_account:
        return run
    book = PriceBook()
    hourly = hourly_charges(by_account.keys(), at=cutoff, book=book)
    for account_id in sorted(by_account):
        usages = sorted(by_account[account_id], key=lambda u: (u.hour_start, u.kind, u.instance_id))
        for attempt in range(2):
            try:
                _settle_account(account_id, usages, book, hourly[account_id], run)
                break
            except IntegrityError:
                # Another run settled some of these hours between our check and insert
                # (only possible without row locks); try again: they are skipped now.
                if attempt:
                    raise
    return run


def _settle_account(account_id, usages, book: PriceBook, hourly: Decimal, run: SettlementRun) -> None:
    now = timezone.now()
    with transaction.atomic():
        state = _lock(account_id)
        done = set(Settlement.objects.filter(
            account_id=account_id, hour_start__gte=usages[0].hour_start, hour_start__lte=usages[-1].hour_start,
        ).values_list("instance_kind", "instance_id", "hour_start"))
        rows, weights = [], {}
        for u in usages:
            if (u.kind, u.instance_id, u.hour_start) in done:
                continue
            unit_price = book.at(u.instance_type, u.hour_start)
            vcpu = u.vcpu or Decimal("0")
            rows.append(Settlement(
                account_id=account_id, instance_kind=u.kind, instance_id=u.instance_id, instance_name=u.name[:64],
                instance_type=u.instance_type, hour_start=u.hour_start, billable=u.vcpu is not None, vcpu=vcpu,
                unit_price=unit_price, amount=charge_for(vcpu, unit_price) if u.vcpu is not None else Decimal("0"),
                created_at=now, fleet_id=u.fleet_id, fleet_name=u.fleet_name[:64], project_id=u.project_id,
                project_name=u.project_name[:64]))
            weights[len(rows) - 1] = u.namespace_cpu
        if not rows:
            return
        Settlement.objects.bulk_create(rows)
        SettlementShare.objects.bulk_create(
            [share for i, s in enumerate(rows) if s.amount > 0 for share in namespace_shares(s, weights.get(i))],
            batch_size=2000)
        current = balance(account_id)
        entries = []
        for s in rows:
            if s.amount > 0:
                current -= s.amount
                entries.append(LedgerEntry(
                    account_id=account_id, kind=LedgerEntry.Kind.CHARGE, amount=-s.amount, balance_after=current,
                    reference=f"settlement:{s.pk}", actor_name=SYSTEM, settlement=s, created_at=now))
        LedgerEntry.objects.bulk_create(entries)
        run.hours += len(rows)
        run.billed += sum(1 for s in rows if s.billable)
        run.amount += sum((s.amount for s in rows), Decimal("0"))
        run.accounts += 1
        if _after_balance_change(state, current, hourly, trigger="settlement"):
            run.frozen.append(account_id)


def namespace_shares(settlement: Settlement, namespace_cpu: dict | None) -> list[SettlementShare]:
    """The hour's charge split by the namespaces' CPU requests, in ten-thousandths of a yuan by
    largest remainder (ties to the namespace first by name), so the parts add up to the charge
    exactly; without requests, one part for namespace "" (not attributed)."""
    weights = {ns: int(m) for ns, m in (namespace_cpu or {}).items() if int(m) > 0}
    total = sum(weights.values())
    if not total:
        return [SettlementShare(settlement=settlement, namespace="", cpu_millicores=0, amount=settlement.amount)]
    units = int(settlement.amount / PRECISION)
    parts = {ns: divmod(units * w, total) for ns, w in weights.items()}
    left = units - sum(q for q, _r in parts.values())
    order = sorted(parts, key=lambda ns: (-parts[ns][1], ns))
    extra = set(order[:left])
    return [SettlementShare(settlement=settlement, namespace=ns, cpu_millicores=weights[ns],
                            amount=(parts[ns][0] + (ns in extra)) * PRECISION)
            for ns in sorted(parts)]


# --- arrears and warnings (R7.6) --------------------------------------------------------

def _after_balance_change(state: BillingAccount, new_balance: Decimal, hourly: Decimal, trigger: str) -> bool:
    """Inside the ledger write's transaction: freeze on arrears, unfreeze when paid up,
    warn once per low-balance episode. True when the account went into arrears now.
    `trigger` (the hourly "settlement", or a ledger entry kind) is named in the notices."""
    now = timezone.now()
    account = state.account
    fields = []
    went_into_arrears = False
    if new_balance < 0:
        frozen = _freeze(account)
        if state.frozen_at is None:
            state.frozen_at = now
            fields.append("frozen_at")
            went_into_arrears = True
            record(None, "billing:freeze", ("account", account.pk, account.name), account=account,
                   details={"balance": str(new_balance), "instances": [f"{k}:{f.instance_id}" for k, f in frozen]})
            notices.write(state, notices.Kind.ARREARS, balance=new_balance, instances=len(frozen), hourly=hourly,
                          trigger=trigger)
    elif state.frozen_at is not None:
        restored = _unfreeze(account)
        # Frozen clusters were not in the next hour's charge; restored, they bill again.
        hourly = hourly_charges([account.pk])[account.pk]
        state.frozen_at = None
        fields.append("frozen_at")
        record(None, "billing:unfreeze", ("account", account.pk, account.name), account=account,
               details={"balance": str(new_balance), "instances": restored})
        notices.write(state, notices.Kind.RESTORED, balance=new_balance, instances=len(restored), hourly=hourly)
    if new_balance >= 0:
        low = hourly > 0 and new_balance < hourly * LOW_BALANCE_HOURS
        if low and state.low_balance_warned_at is None:
            state.low_balance_warned_at = now
            fields.append("low_balance_warned_at")
            notices.write(state, notices.Kind.LOW_BALANCE, balance=new_balance, hourly=hourly, trigger=trigger,
                          hours=(new_balance / hourly).quantize(Decimal("0.1")))
        elif not low and state.low_balance_warned_at is not None:
            state.low_balance_warned_at = None  # the episode is over; the next one warns again
            fields.append("low_balance_warned_at")
    if fields:
        state.save(update_fields=fields)
    return went_into_arrears


def _freeze(account) -> list[tuple[str, metering.FrozenState]]:
    frozen = []
    for kind in metering.kinds():
        for state in kind.freeze(account.pk):
            FrozenInstance.objects.update_or_create(
                instance_kind=kind.kind, instance_id=state.instance_id,
                defaults={"account": account, "instance_name": state.name[:64],
                          "previous_status": state.previous_status})
            frozen.append((kind.kind, state))
    return frozen


def _unfreeze(account) -> list[str]:
    restored = []
    for frozen in FrozenInstance.objects.filter(account=account).order_by("id"):
        kind = metering.kind(frozen.instance_kind)
        if kind is not None and kind.unfreeze(frozen.instance_id, frozen.previous_status):
            restored.append(f"{frozen.instance_kind}:{frozen.instance_id}")
        frozen.delete()
    return restored


# --- usage and bills (R7.4) --------------------------------------------------------------

def month_range(month: str) -> tuple[datetime, datetime]:
    """'2026-11' → the month's first and next month's first hour, in UTC+8."""
    try:
        year, number = (int(part) for part in month.split("-"))
        start = datetime(year, number, 1, tzinfo=metering.BILLING_TZ)
    except (TypeError, ValueError):
        raise ValidationError(_("Give the month as YYYY-MM.")) from None
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=metering.BILLING_TZ)
    return start, end


def current_month() -> str:
    return timezone.now().astimezone(metering.BILLING_TZ).strftime("%Y-%m")


@dataclass
class Bill:
    month: str
    total: Decimal
    hours: int
    vcpu_hours: Decimal
    by_type: list[dict]
    by_instance: list[dict]


def monthly_bill(settlements, month: str) -> Bill:
    """The month's billed hours of `settlements` (already restricted to the account), by
    instance type and by instance."""
    start, end = month_range(month)
    billed = settlements.filter(hour_start__gte=start, hour_start__lt=end, billable=True)
    totals = billed.aggregate(total=Sum("amount"), hours=Count("id"), vcpu_hours=Sum("vcpu"))
    labels = dict(InstanceType.choices)
    by_type = [
        {**row, "label": labels.get(row["instance_type"], row["instance_type"])}
        for row in billed.values("instance_type").annotate(amount=Sum("amount"), hours=Count("id"),
                                                           vcpu_hours=Sum("vcpu")).order_by("instance_type")
    ]
    by_instance = [
        {**row, "label": labels.get(row["instance_type"], row["instance_type"])}
        for row in billed.values("instance_kind", "instance_id", "instance_name", "instance_type")
        .annotate(amount=Sum("amount"), hours=Count("id"), vcpu_hours=Sum("vcpu"))
        .order_by("instance_type", "instance_name", "instance_id")
    ]
    return Bill(month=month, total=totals["total"] or Decimal("0"), hours=totals["hours"] or 0,
                vcpu_hours=totals["vcpu_hours"] or Decimal("0"), by_type=by_type, by_instance=by_instance)


def bill_months(settlements) -> list[dict]:
    """Months with billed hours, newest first, with their totals."""
    rows = (settlements.filter(billable=True).annotate(month=TruncMonth("hour_start", tzinfo=metering.BILLING_TZ))
            .values("month").annotate(total=Sum("amount"), hours=Count("id")).order_by("-month"))
    return [{"month": r["month"].astimezone(metering.BILLING_TZ).strftime("%Y-%m"), "total": r["total"],
             "hours": r["hours"]} for r in rows]
