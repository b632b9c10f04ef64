"""Wiring: one explicit mapping from the config's `backend:` names to connector constructors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from connectors.base import ResponsesSource, UploadsSource, Warehouse
from connectors.forms_export import FormsExportSource
from connectors.local_folder import LocalFolderSource
from connectors.xlsx_warehouse import XlsxWarehouse
from ingest.campaign import Campaign
from ingest.errors import ConfigError

RESPONSES_BACKENDS: Mapping[str, Callable[[Mapping[str, Any]], ResponsesSource]] = {
    "forms_export": lambda s: FormsExportSource(s["path"], timestamp_order=s.get("timestamp_order")),
}
UPLOADS_BACKENDS: Mapping[str, Callable[[Mapping[str, Any]], UploadsSource]] = {
    "local_folder": lambda s: LocalFolderSource(s["path"]),
}
WAREHOUSES: Mapping[str, Callable[[Mapping[str, Any]], Warehouse]] = {
    "xlsx": lambda s: XlsxWarehouse(s["path"]),
}


@dataclass
class Backends:
    responses: dict[str, ResponsesSource]
    uploads: dict[str, UploadsSource]
    warehouse: Warehouse


def build_backends(campaign: Campaign) -> Backends:
    problems = []
    responses: dict[str, ResponsesSource] = {}
    uploads: dict[str, UploadsSource] = {}
    for name, spec in campaign.sources.items():
        table = RESPONSES_BACKENDS if spec.role == "responses" else UPLOADS_BACKENDS
        make = table.get(spec.backend)
        if make is None:
            problems.append(f"sources.{name}.backend: {spec.backend!r} is not available in this build of tidtam "
                            f"(available: {', '.join(table)})")
            continue
        (responses if spec.role == "responses" else uploads)[name] = make(spec.settings)
    make_warehouse = WAREHOUSES.get(campaign.warehouse.get("backend", ""))
    if make_warehouse is None:
        problems.append(f"warehouse.backend: {campaign.warehouse.get('backend')!r} is not available in this build "
                        f"(available: {', '.join(WAREHOUSES)})")
    if problems:
        raise ConfigError(problems)
    return Backends(responses, uploads, make_warehouse(campaign.warehouse))
