"""plasticore.constraints: pin and clock constraints of the synthesis targets (package data).

``ice40-up5k-sg48.pcf``, ``ice40-hx8k-ct256.pcf`` (nextpnr-ice40 PCF) and ``ecp5-25f-cabga381.lpf``
(nextpnr-ecp5 LPF): the four wrapper pins ``clk``, ``sdi``, ``cap``, ``sdo`` and the clock goal. Read them
with :meth:`plasticore.flows.edam.Target.constraint_path`, which works from a checkout and from a wheel.
"""
