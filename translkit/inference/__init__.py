"""Inference: translating images at their own size, and exporting generators."""

from translkit.inference.files import TranslateReport, translate_checkpoint, translate_files
from translkit.inference.translate import Translator, pad_to_multiple

__all__ = [
    "TranslateReport",
    "Translator",
    "pad_to_multiple",
    "translate_checkpoint",
    "translate_files",
]
