"""Importers of models and scenarios from other tools' formats."""
