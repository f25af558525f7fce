"""A load test that drives real Streamlit sessions over the app's websocket.

Plain HTTP GETs do not run a Streamlit script; a browser tab does, through one
websocket (``/_stcore/stream``) that carries protobuf ``BackMsg``s up (rerun
requests with widget values) and ``ForwardMsg``s down (the page's elements,
then ``script_finished``). :mod:`loadtest.client` speaks that protocol without a
browser, so one process can play tens of users on a small machine.

* :mod:`loadtest.client`   one simulated browser tab (``StreamlitSession``)
* :mod:`loadtest.scenario` what a user does (pages, sliders, buttons, think time)
* :mod:`loadtest.server`   start ``streamlit run``, sample its memory from /proc
* :mod:`loadtest.run`      the driver and the CLI: ``python -m loadtest.run --help``
"""
