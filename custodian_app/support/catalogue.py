"""Load the shipped reject-code / category catalogue (``resources/catalogue.json``).

Kept out of ``custodian_app.domain`` because it reads a file; the domain only shapes the data.
Loading also makes it the default of ``reconcile`` so that every caller gets the real actions.
"""

from __future__ import annotations

from functools import cache

import orjson

from custodian_app.domain.catalogue import Catalogue, CatalogueError, install_default
from custodian_app.support.resources import resource


@cache
def load_catalogue(path: str | None = None) -> Catalogue:
    """The catalogue at ``path`` (default: the shipped one); raises CatalogueError if it is bad."""
    where = path or str(resource("catalogue.json"))
    try:
        with open(where, "rb") as fh:
            doc = orjson.loads(fh.read())
    except OSError as exc:
        raise CatalogueError(
            f"{where}: cannot read the catalogue: {exc.strerror or exc}; reinstall custodian-app"
        ) from exc
    except orjson.JSONDecodeError as exc:
        raise CatalogueError(f"{where}: the catalogue is not valid JSON: {exc}") from exc
    catalogue = Catalogue.from_dict(doc, where)
    if path is None:
        install_default(catalogue)
    return catalogue
