import {SERVER_PID_FILE} from '../../pid-file.js'
import {makeStopCommand} from '../../stop-command.js'

export default makeStopCommand('server', SERVER_PID_FILE)
