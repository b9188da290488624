"Hugging Face Space entry point (sdk: gradio): the CIFAKE real-vs-fake demo, see cifake_nb/app.py."
from cifake_nb.app import build_demo
demo = build_demo()
if __name__ == '__main__': demo.launch(max_file_size=demo.service.max_bytes, state_session_capacity=demo.state_session_capacity)
