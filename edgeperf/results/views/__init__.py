"""The report views: typed report -> view-model (blocks) -> the terminal (results/render.py) or the HTML page
(Jinja2 templates in templates/, style.css inlined). One module per group of report kinds; page.VIEWS maps a kind
to its view, shared.py holds what the terminal and the page both show (summary table, verdict)."""
