from django.contrib import admin

from .models import UnsentTask


@admin.register(UnsentTask)
class UnsentTaskAdmin(admin.ModelAdmin):
    """What the broker refused and the beat sweep still tries to send: a non-empty list
    means the broker is down."""

    list_display = ("task", "created_at", "attempts", "last_attempt_at", "error")
    readonly_fields = ("task", "args", "kwargs", "error", "attempts", "created_at", "last_attempt_at")

    def has_add_permission(self, request):
        return False
