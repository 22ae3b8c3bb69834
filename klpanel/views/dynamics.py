"""Optimization-dynamics section (placeholder; its owner replaces this file)."""

import panel as pn
import param


class DynamicsSection(pn.viewable.Viewer):
    """Side-by-side optimisation runs on a live loss landscape (coming)."""

    explorer = param.Parameter(doc="The app's Explorer model")

    def __panel__(self):
        return pn.pane.Markdown("## 4. Optimization dynamics\n\n*Coming: watch forward KL cover the modes "
                                "while reverse KL locks onto one.*", sizing_mode="stretch_width")
