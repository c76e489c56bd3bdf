-- wrk script: POST the iris V2 request (one FP32 input per feature), as the transformer expects.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"inputs":[{"name":"sepal_length","shape":[1],"datatype":"FP32","data":[5.1]},'
  .. '{"name":"sepal_width","shape":[1],"datatype":"FP32","data":[3.5]},'
  .. '{"name":"petal_length","shape":[1],"datatype":"FP32","data":[1.4]},'
  .. '{"name":"petal_width","shape":[1],"datatype":"FP32","data":[0.2]}]}'
