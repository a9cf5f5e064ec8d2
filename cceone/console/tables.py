"""The console's table base. Every list page's table derives from `ConsoleTable`, the one
place for what the console's tables share; django-tables2 renders them (Bootstrap 5)."""
from django_tables2 import Table


class ConsoleTable(Table):
    """Every console table derives from this."""
