-- wrk script: POST a V2 infer request. The body is the file named by $BENCH_BODY_FILE if set,
-- else the iris transformer's request (one FP32 input per feature).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"sepal_length","shape":[1],"datatype":"FP32","data":[5.1]},'
  .. '{"name":"sepal_width","shape":[1],"datatype":"FP32","data":[3.5]},'
  .. '{"name":"petal_length","shape":[1],"datatype":"FP32","data":[1.4]},'
  .. '{"name":"petal_width","shape":[1],"datatype":"FP32","data":[0.2]}]}'
local path = os.getenv("BENCH_BODY_FILE")
if path then
  local file = assert(io.open(path, "r"))
  wrk.body = file:read("*a")
  file:close()
end
