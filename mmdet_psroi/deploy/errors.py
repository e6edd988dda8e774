"""The one error a model the export cannot represent raises."""


class UnsupportedExport(ValueError):
    """A config setting the exported graph cannot reproduce: names the setting (``where``, a
    config path such as ``model.roi_head.bbox_roi_extractor.roi_layer``) and why."""

    def __init__(self, where: str, why: str) -> None:
        self.where, self.why = where, why
        super().__init__(f'cannot export {where}: {why}')
