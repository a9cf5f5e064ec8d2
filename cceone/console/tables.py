"""The console's table base: django-tables2's columns and templates, with cells computed
once per column rather than once per cell where django-tables2 repeats the same work.

On a list page the table is most of the server time: per cell, django-tables2 inspects the
render method's signature and rebuilds a choice field's labels (Django's
`get_FOO_display` hashes every lazy label), and the template resolves the column's
attributes. `ConsoleTable` keeps what a cell shows and computes those once per table.
"""
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template.base import render_value_in_context
from django.template.context import Context
from django.utils import formats
from django.utils.encoding import force_str
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django_tables2 import Table
from django_tables2.columns.manytomanycolumn import ManyToManyColumn
from django_tables2.rows import BoundRow, BoundRows
from django_tables2.utils import signature



class _Cells:
    """What a column's cells share: its render signature, its `<td>` attributes unless they
    are computed per cell, and for a choice field of the row's own model, the labels."""

    def __init__(self, bound_column, record):
        self.args, self.catch_all = signature(bound_column.render)
        self.model = type(record)
        name = str(bound_column.accessor)
        self.field_name = name if isinstance(record, models.Model) and "." not in name and "__" not in name else None
        self.choices = None
        if self.field_name:
            try:
                field = record._meta.get_field(self.field_name)
            except FieldDoesNotExist:
                field = None
            if field is not None and getattr(field, "choices", ()) and hasattr(record, f"get_{field.name}_display"):
                self.attname = field.attname
                self.choices = {value: force_str(label, strings_only=True) for value, label in field.flatchoices}
        attrs = {**bound_column._table.attrs, **bound_column.column.attrs}
        td = attrs.get("td", attrs.get("cell", {}))
        self.static_td = None if any(callable(v) for v in td.values()) else bound_column.attrs["td"].as_html()


class ConsoleRow(BoundRow):
    def _cells(self, bound_column) -> _Cells:
        plans = self._table._console_cells
        plan = plans.get(bound_column.name)
        if plan is None:
            plan = plans[bound_column.name] = _Cells(bound_column, self.record)
        return plan

    def _get_and_render_with(self, bound_column, render_func, default):
        plan = self._cells(bound_column)
        if plan.field_name is None or type(self.record) is not plan.model:
            return super()._get_and_render_with(bound_column, render_func, default)
        if plan.choices is not None and isinstance(value := getattr(self.record, plan.attname), str | int):
            value = plan.choices.get(value, value)  # what get_FOO_display() answers
        else:
            # django-tables2's own path, which also knows columns no record attribute backs
            return super()._get_and_render_with(bound_column, render_func, default)
        column = bound_column.column
        if value in column.empty_values or isinstance(column, ManyToManyColumn):
            return super()._get_and_render_with(bound_column, render_func, default)
        return render_func(bound_column, value)

    def _call_render(self, bound_column, value=None):
        plan = self._cells(bound_column)
        render_kwargs = self._optional_cell_arguments(bound_column, value)
        if plan.catch_all:
            content = bound_column.render(**render_kwargs)
        elif all(arg in render_kwargs for arg in plan.args):
            content = bound_column.render(**{arg: render_kwargs[arg] for arg in plan.args})
        else:
            content = None
        return bound_column.link(content, **render_kwargs) if bound_column.link else content

    def td_attrs(self, bound_column) -> str:
        plan = self._cells(bound_column)
        return plan.static_td if plan.static_td is not None else bound_column.attrs["td"].as_html()


class ConsoleRows(BoundRows):
    def __iter__(self):
        yield from self.generator_pinned_row(self.pinned_data.get("top"))
        for record in self.data:
            yield ConsoleRow(record, table=self.table)
        yield from self.generator_pinned_row(self.pinned_data.get("bottom"))

    def __getitem__(self, key):
        if isinstance(key, slice):
            return ConsoleRows(data=self.data[key], table=self.table, pinned_data=self.pinned_data)
        return ConsoleRow(record=self.data[key], table=self.table)


class ConsoleTable(Table):
    """Every console table derives from this; `components/table.html` renders its body."""

    writes_own_rows = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = ConsoleRows(data=self.data, table=self, pinned_data=self.pinned_data)
        self._console_cells = {}

    def body_html(self) -> str:
        """The rows as `django_tables2/bootstrap5.html` writes them, built in Python: the
        template language costs more per cell than the cell itself."""
        context = Context()
        parts = []
        for row in self.paginated_rows:
            parts.append(format_html("<tr {}>", row.attrs.as_html()))
            for column, cell in row.items():
                td = row.td_attrs(column) if isinstance(row, ConsoleRow) else column.attrs["td"].as_html()
                if column.localize is not None:  # the template's |localize and |unlocalize
                    cell = str(formats.localize(cell, use_l10n=column.localize))
                parts.append(format_html("<td {}>{}</td>", mark_safe(td), render_value_in_context(cell, context)))
            parts.append("</tr>")
        if not parts and self.empty_text:
            parts.append(format_html('<tr><td colspan="{}">{}</td></tr>', len(self.columns), self.empty_text))
        return mark_safe("".join(parts))
