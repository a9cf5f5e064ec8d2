app_name = "permissions"
urlpatterns: list = []
