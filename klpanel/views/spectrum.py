"""α-spectrum / phase / distillation section (placeholder; its owner replaces this file)."""

import panel as pn
import param


class SpectrumSection(pn.viewable.Viewer):
    """The α-spectrum between forward and reverse KL, phase diagram and distillation view (coming)."""

    explorer = param.Parameter(doc="The app's Explorer model")

    def __panel__(self):
        return pn.pane.Markdown("## 5. The α-spectrum\n\n*Coming: from mode-covering to mode-seeking as α "
                                "moves.*", sizing_mode="stretch_width")
