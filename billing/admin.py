from django.contrib import admin

from .models import Price


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ("instance_type", "unit_price", "effective_from")
    list_filter = ("instance_type",)
