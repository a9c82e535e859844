"""Jejaring web: server-rendered pages for people; it holds no case data and calls the services
over HTTP with the person's own access token."""
