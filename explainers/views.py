from django.http import Http404
from django.views.generic import DetailView, ListView, TemplateView

from .models import Category, Explainer


class HomeView(TemplateView):
    template_name = "explainers/home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["categories"] = Category.objects.all()
        return context


class CategoryView(ListView):
    template_name = "explainers/category.html"
    context_object_name = "explainers"

    def get_queryset(self):
        return Explainer.objects.published().filter(category=self.kwargs["category"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(category=self.kwargs["category"], **kwargs)


class ExplainerDetailView(DetailView):
    template_name = "explainers/explainer_detail.html"
    context_object_name = "explainer"

    def get_queryset(self):
        return Explainer.objects.published().filter(category__path=self.kwargs["category_path"])


def category_or_explainer(request, category_path, slug=None):
    full_path = f"{category_path}/{slug}" if slug else category_path
    category = Category.objects.filter(path=full_path).first()
    if category is not None:
        return CategoryView.as_view()(request, category=category)
    if slug is None:
        raise Http404("No such category.")
    return ExplainerDetailView.as_view()(request, category_path=category_path, slug=slug)
