"""The web page (`matrixcalculus serve`): one page and a JSON API over the derivation engine.

Needs the `web` extra (FastAPI, uvicorn): `pip install "matrixcalculus[web]"`.
`create_app()` lives in `matrixcalculus.web.app`; the derivations themselves run in
`matrixcalculus.web.jobs`, in worker processes.
"""
