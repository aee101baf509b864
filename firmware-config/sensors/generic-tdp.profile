# A three-value SDI-12 probe: aD0! answers +TEMP+DO+PH, e.g. 0+17.5+8.25+6.45.
# Keys: name, model, serial, calibrated (YYYY-MM-DD), format (sdi12|csv),
# address (one SDI-12 address; any when absent), missing (the probe's
# no-value code), value.P or value.DN.P = PARAMETER [UNIT] (P from 1).
name = generic-tdp
model = generic SDI-12 temperature / dissolved oxygen / pH probe
format = sdi12
address = 0
missing = -9999
value.1 = temp °C
value.2 = do mg/L
value.3 = ph
