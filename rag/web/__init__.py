"""The web chat: service (readiness), handlers, layout, rendering, feedback."""
