"""The web chat: service (readiness), handlers, layout, rendering, feedback."""

from . import gradio_import

# Before any module of this package imports gradio: its stub writer costs ~2 s per start.
gradio_import.install()
