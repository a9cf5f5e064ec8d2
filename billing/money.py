"""The one money format of the console, notices and messages: ¥10,000.00, a debt -¥0.33."""
from decimal import Decimal


def yuan(amount, places: int = 2) -> str:
    if amount is None or amount == "":
        return ""
    amount = Decimal(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.{places}f}"
