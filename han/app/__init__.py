"""The Streamlit app's helpers and charts (the only place in han/ that imports streamlit)."""
