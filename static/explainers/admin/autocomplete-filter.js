'use strict';
// A list filter's autocomplete select (explainers/admin_scale.py, AutocompleteFilter):
// choosing a record, or clearing the choice, opens the list filtered by it. select2 tells
// of a choice through jQuery's "change" event, which native listeners do not hear; jQuery
// (django.jQuery) is looked up once the page's scripts have all run, whatever their order.
window.addEventListener('DOMContentLoaded', function() {
    django.jQuery('.autocomplete-filter select').on('change', function() {
        const filter = this.closest('.autocomplete-filter');
        const params = new URLSearchParams(filter.dataset.queryString);
        if (this.value) {
            params.set(this.name, this.value);
        }
        window.location.search = params.toString();
    });
});
