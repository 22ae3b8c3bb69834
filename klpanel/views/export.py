"""Export the current numbers (CSV, JSON); plots export to PNG from each figure's save tool."""

from __future__ import annotations

import io

import panel as pn
import param

from ..models.explorer import Explorer
from . import styles


class ExportPanel(pn.viewable.Viewer):
    """Two download buttons; the file is built from ``explorer.snapshot()`` when clicked."""

    explorer = param.ClassSelector(class_=Explorer)

    def __init__(self, **params):
        super().__init__(**params)
        self.csv = pn.widgets.FileDownload(callback=lambda: io.StringIO(self.explorer.to_csv()),
                                           filename="klpanel.csv", label="Numbers as CSV", color="primary")
        self.json = pn.widgets.FileDownload(callback=lambda: io.StringIO(self.explorer.to_json()),
                                            filename="klpanel.json", label="Numbers as JSON", color="primary")

    def __panel__(self):
        return pn.Column(
            pn.pane.Markdown("## Export\nThe current target, q, readouts and optima. Each plot saves as PNG "
                             "from its toolbar's save button.", sizing_mode="stretch_width"),
            styles.wrapping_row(self.csv, self.json), sizing_mode="stretch_width")
