"""The Streamlit dashboard (installed with the ``dashboard`` extra)."""
