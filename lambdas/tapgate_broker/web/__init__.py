"""The web page: index.html, its CSS and ES modules (package data, served by api/pages)."""
