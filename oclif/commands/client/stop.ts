import {CLIENT_PID_FILE} from '../../pid-file.js'
import {makeStopCommand} from '../../stop-command.js'

export default makeStopCommand('client', CLIENT_PID_FILE)
