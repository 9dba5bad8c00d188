"""The embedded default's Celery broker: kombu's filesystem transport, one folder per install."""

from pathlib import Path


def file_broker_options(folder: Path) -> dict:
    """The transport options of a file broker kept under `folder`: the queue (in and out are the
    same folder), processed messages (not kept) and the control messages."""
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }
