from django.contrib.staticfiles import finders

# django-ninja ships ReDoc beside Swagger UI; the docs use Swagger UI alone (api/views.py).
UNUSED = ["redoc.standalone.js*"]


class FileSystemFinder(finders.FileSystemFinder):
    """STATICFILES_DIRS (ours and django-ninja's) for collectstatic, without the 4 MB of ReDoc
    it would otherwise hash and compress at every deploy."""

    def list(self, ignore_patterns):
        return super().list([*(ignore_patterns or []), *UNUSED])
