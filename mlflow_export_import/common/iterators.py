"""Paged searches: every search walks all pages, one page in memory at a time."""
from mlflow.entities import ViewType

MAX_RESULTS = 1000
# MLflow caps logged model and trace pages lower than run and model pages
MAX_RESULTS_MLFLOW3 = 100


def _pages(search, **kwargs):
    token = None
    while True:
        page = search(page_token=token, **kwargs)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


class BaseIterator:
    def __init__(self, search_method, max_results=None, filter=None, **kwargs):
        self.search_method = search_method
        self.kwargs = dict(kwargs)
        if max_results is not None:
            self.kwargs["max_results"] = max_results
        if filter:
            self.kwargs["filter_string"] = filter

    def __iter__(self):
        return _pages(self.search_method, **self.kwargs)


class SearchExperimentsIterator(BaseIterator):
    """max_results is the page size (None: MAX_RESULTS); every page is walked."""

    def __init__(self, client, view_type=None, max_results=None, filter=None):
        super().__init__(client.search_experiments, max_results or MAX_RESULTS, filter,
                         view_type=view_type or ViewType.ACTIVE_ONLY)


class SearchRunsIterator(BaseIterator):
    def __init__(self, client, experiment_ids, max_results=None, filter=None, view_type=None):
        ids = experiment_ids if isinstance(experiment_ids, list) else [experiment_ids]
        super().__init__(client.search_runs, max_results or MAX_RESULTS, filter, experiment_ids=ids,
                         run_view_type=view_type or ViewType.ACTIVE_ONLY)


class SearchRegisteredModelsIterator(BaseIterator):
    def __init__(self, client, max_results=None, filter=None):
        super().__init__(client.search_registered_models, max_results or MAX_RESULTS, filter)


class SearchModelVersionsIterator(BaseIterator):
    def __init__(self, client, max_results=None, filter=None):
        super().__init__(client.search_model_versions, max_results or MAX_RESULTS, filter)


class SearchLoggedModelsIterator(BaseIterator):
    def __init__(self, client, experiment_ids, max_results=None, filter=None):
        super().__init__(client.search_logged_models, max_results or MAX_RESULTS_MLFLOW3, filter,
                         experiment_ids=list(experiment_ids))


class SearchTracesIterator(BaseIterator):
    def __init__(self, client, experiment_ids, run_id=None, max_results=None, filter=None):
        kwargs = {"locations": list(experiment_ids)}
        if run_id:
            kwargs["run_id"] = run_id
        super().__init__(client.search_traces, max_results or MAX_RESULTS_MLFLOW3, filter, **kwargs)


def list_if_cheaper(search, lookups, **kwargs):
    """Everything a paged search finds, when that takes fewer requests than the `lookups` one-by-one lookups it
    stands for; else None (the caller then looks each up). So a listing never costs more than it saves."""
    items, token = [], None
    for _ in range(lookups - 1):
        page = search(page_token=token, **kwargs)
        items.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return items
    return None
