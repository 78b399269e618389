from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context, number):
    """This page's URL at page ``number``, keeping the other parameters (such as ``q``).

    Page 1 has no ``page`` parameter, so each page has one address.
    """
    request = context["request"]
    query = request.GET.copy()
    query.pop("page", None)
    if number != 1:
        query["page"] = number
    return f"{request.path}?{query.urlencode()}" if query else request.path
