"""`leadflow import`: file import of purchased lists, badge scans and partner spreadsheets."""

from cli.imports import command

__all__ = ["command"]
