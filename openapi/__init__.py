"""Marks the vendored OpenAPI documents as package data: installed as ``mockserver.openapi``."""
