// A bare uWebSockets.js hello-world, the ceiling the server benchmark compares VecStore's /health against.
import uWS from 'uWebSockets.js';

const port = Number(process.argv[2] ?? 0);
uWS.App()
  .get('/health', (res) => {
    res.cork(() => {
      res.writeHeader('Content-Type', 'application/json').end('{"status":"healthy"}');
    });
  })
  .listen('127.0.0.1', port, (socket) => {
    if (!socket) process.exit(1);
    console.log(JSON.stringify({ msg: 'listening', port: uWS.us_socket_local_port(socket) }));
  });
