"""The run stage: how one image becomes findings. The pipeline, in the order it runs (explorer.scan.engine.scan):

1. open      explorer.sources.open_image gives the manifest, config, history and layer blobs.
2. remember  a warm run takes the whole result from the cache (cache.py, keyed by digests, rules, limits).
3. each layer  from the layer cache (cache.py), or one streaming pass (layerjobs.py schedules the layers,
             layerpass.py decompresses, walks and hashes with explorer.layerfs and feeds the file detectors,
             in worker processes through detectpool.py; workerlog.py keeps their logs).
4. stack     explorer.layerfs stacks the layers into the image as the runtime sees it (whiteouts, links).
5. detect    layer and image detectors (explorer.detectors) run on the stacked image and its config.
6. report    engine.ScanResult (findings, problems, explorer.core.imagesummary.ImageSummary) goes to explorer.reports.

Nothing here imports a front end or Textual; the modules are imported when a run needs them.
"""
