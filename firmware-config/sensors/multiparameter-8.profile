# A multiparameter sonde on SDI-12 that answers aD0! with five values and
# aD1! with three: temperature, conductivity, dissolved oxygen (mg/L and
# % saturation), pH; then turbidity, ammonium nitrogen and chlorophyll a.
# Adjust the positions to the order your sonde is configured to report.
name = multiparameter-8
model = multiparameter sonde (SDI-12)
format = sdi12
missing = -99999
value.1 = temp °C
value.2 = cond uS/cm
value.3 = do mg/L
value.4 = do_sat %
value.5 = ph
value.D1.1 = turb NTU
value.D1.2 = nh3n mg/L
value.D1.3 = chla ug/L
