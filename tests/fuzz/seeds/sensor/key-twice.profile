# probe
name = tdp
model = generic probe
serial = SN-1
calibrated = 2024-04-01
format = sdi12
address = 0
missing = -9999
value.1 = temp °C
value.2 = do mg/L
value.3 = ph
value.D1.1 = nh3n mg/L
serial = A1
serial = A2
