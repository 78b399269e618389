from django.urls import path

from . import views

app_name = "explainers"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("series/<slug:slug>/", views.SeriesView.as_view(), name="series"),
    path(
        "images/<int:width>.<str:extension>/<path:original>",
        views.hero_rendition,
        name="rendition",
    ),
    # "/ai-principles/llm-foundations/" is both a category path and, in shape, an explainer
    # under "/ai-principles/"; one view tells them apart (categories first).
    path("<path:category_path>/<slug:slug>/", views.category_or_explainer, name="detail"),
    path("<path:category_path>/", views.category_or_explainer, name="category"),
]
