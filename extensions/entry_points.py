"""The entry-point group plugins are found through, apart from the plugin machinery: the
catalogues (`extensions.i18n`), which every module may import, read it too."""

GROUP = "dinamis.plugins"
