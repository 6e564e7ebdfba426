"""Web chat for German-news question answering: ``python app.py [--host H] [--port P]``.

The same as ``rag serve``: starts the Gradio app on the default corpus (or ``--corpus``/
``--index``), loading the index in the background and building it first when it is
missing or stale. Listens on ``127.0.0.1:7860`` unless ``--host``/``--port`` (or
``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT``) say otherwise. See ``rag serve --help``.
"""

import sys

from rag.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
