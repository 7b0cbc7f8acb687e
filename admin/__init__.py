"""piccolo-admin, assembled from the Model, with every read and write routed through the
RecordService for the signed-in admin's organization."""

from admin.app import build_admin

__all__ = ["build_admin"]
