"""Hugging Face Space entry point (sdk: gradio): the CIFAKE real-vs-fake demo, served exactly as `cifake-demo` and the
Docker image serve it (the request guard in front of Gradio, `/healthz`), on the host and port the Space sets in
$GRADIO_SERVER_NAME / $GRADIO_SERVER_PORT. See cifake_nb/app.py. (A bare `demo.launch()` would skip the guard's upload
bounds, so the Space does not use it.)"""
from cifake_nb.app import main

if __name__ == '__main__': main()
